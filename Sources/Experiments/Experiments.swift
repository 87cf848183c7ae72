import Reports

/// The RDIC experiment runner. (Filled in by the experiment work.)
public enum Experiments {}
