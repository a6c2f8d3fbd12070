"""Sales documents («реализация») for delivered orders, and their export to the ERP."""
