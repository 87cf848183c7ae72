/// Statistics for paired experiment results. (Filled in by the statistics work.)
public enum Statistics {}
