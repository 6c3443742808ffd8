"""One reader per document format; each turns a file's content into text plus sections."""
