"""Flash storage: a littlefs filesystem (vfs.VfsLfs2) over the board's block device."""
