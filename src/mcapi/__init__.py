"""mcapi: the Mimecast API 1.0 toolkit."""
