/// The `CodexExchange` module; see ../shared/ARCHITECTURE.md.
public enum CodexExchangeModule {}
