// The GGUF module; see Package.swift for its role.
