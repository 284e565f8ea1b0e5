"""Platform adapters: one module per platform behind the protocol in `base`."""
