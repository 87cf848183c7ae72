import Foundation

extension ModelStore {
    /// A GGUF already on this machine that can answer for a model alias, so a name such as
    /// `gemma-3-12b` runs on the local engine when its file is here: a model installed under
    /// that name, else Ollama's copy of `ollamaModel` (e.g. `gemma3:12b`), else a Hugging Face
    /// cache file whose repository or name contains the alias (the Q4_K_M one when several do,
    /// never a vision projector).
    public func localMatch(alias: String, ollamaModel: String? = nil) -> InstalledModel? {
        if let model = (try? installed())?.first(where: { $0.name == alias }) { return model }
        let discovered = discover()
        if let ollamaModel {
            let tagged = ollamaModel.contains(":") ? ollamaModel : ollamaModel + ":latest"
            if let model = discovered.first(where: { $0.name == "ollama:" + tagged }) { return model }
        }
        let needle = alias.lowercased()
        // Vision projectors (`mmproj-*.gguf`) sit beside the weights in many repositories.
        let candidates = discovered.filter {
            $0.source == "huggingface" && $0.name.lowercased().contains(needle) && !$0.name.lowercased().contains("mmproj")
        }
        return candidates.first { $0.name.lowercased().contains(Self.preferredQuantization) } ?? candidates.first
    }

    /// The quantization chosen when a repository offers several: the usual size/quality balance.
    static let preferredQuantization = "q4_k_m"
}
