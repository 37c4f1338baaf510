"""Command-line plumbing: output (data to stdout, the rest to stderr), prompts (terminal only), credentials and opening the Center, shared options."""
