"""XDM Schema Registry logic without HTTP or storage: ids, standard classes, refs, evolution."""
