"""Board support: one package per board, all behind the interface in boards/README.md."""
