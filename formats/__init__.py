"""dualsparse deploy-time side: the ``.dsz`` container, codecs and loader (numpy only, never torch)."""
