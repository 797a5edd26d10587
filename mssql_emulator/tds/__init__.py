"""The TDS 7.4 wire protocol: packets, login, tokens, row encoding, RPC."""
