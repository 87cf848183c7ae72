// The ModelStore module; see Package.swift for its role.
