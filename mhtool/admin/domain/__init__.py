"""What the store's administration shows, as plain functions of plain data."""
