"""`flowservice demo`: a sample SQL Server database, a running service, the tutorial's requests."""
