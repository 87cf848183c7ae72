// The Models module; see Package.swift for its role.
