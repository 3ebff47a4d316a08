"""The case history: the store on disk and its command line."""
