"""Connection specs (and, later, flow specs) as JSON data files with their loader."""
