"""Microsoft SQL Server source connector (connection spec 1f372ff9-38a4-4492-96f5-b9a4e4bd00ec)."""
