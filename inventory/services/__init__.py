"""Services: every write to the inventory, each in one transaction with its change-log rows."""
