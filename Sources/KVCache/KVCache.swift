// The KVCache module; see Package.swift for its role.
