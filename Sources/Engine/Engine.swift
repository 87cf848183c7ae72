// The Engine module; see Package.swift for its role.
