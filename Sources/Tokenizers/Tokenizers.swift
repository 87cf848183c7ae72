// The Tokenizers module; see Package.swift for its role.
