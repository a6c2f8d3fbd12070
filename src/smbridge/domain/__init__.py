"""The pure core: SM orders, their status machine and the rules applied to them. No I/O here."""
