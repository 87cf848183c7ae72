// The Providers module; see Package.swift for its role.
