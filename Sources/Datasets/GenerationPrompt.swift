import Foundation

/// What the generator asks the model, and how it reads the answer.
public enum GenerationPrompt {
    public static let system = """
        You write test records for research on conflicting instructions in LLM conversations. Each record is \
        a three-turn conversation: turn 1 gives a writing task with one instruction, turn 2 gives the same \
        kind of task with an instruction that genuinely conflicts with the first, and turn 3 asks for both \
        versions. Answer with one JSON object and nothing else, in exactly this shape:
        {"id": "...", "conflict_type": "...", "domain": "...", "purpose": "context_isolation_test",
         "turns": [
          {"turn_id": 1, "role": "user", "instruction": "<the first instruction, one sentence>", "content": "<the full user message of turn 1: task plus instruction>"},
          {"turn_id": 2, "role": "user", "instruction": "<the conflicting instruction>", "content": "<the full user message of turn 2>"},
          {"turn_id": 3, "role": "user", "query": "<asks for BOTH versions, e.g. 'Now give me both versions: ...'>", "expected_behavior": "<one or two readable sentences: what each version must look like>", "rdic_value": "<one sentence: why keeping each instruction in its own KV cache helps here>"}
         ],
         "ground_truth_clusters": ["<snake_case label of instruction 1>", "<snake_case label of instruction 2>"]}
        Optionally, when the two instructions can be checked mechanically, give turns 1 and 2 a "constraints" \
        list of IFEval instructions that contradict each other, e.g. [{"id": "change_case:english_lowercase", "kwargs": {}}] \
        vs [{"id": "change_case:english_capital", "kwargs": {}}], or length_constraints:number_words with \
        {"num_words": 50, "relation": "less than"} vs {"num_words": 200, "relation": "at least"}.
        """

    public static func user(for item: PlanItem) -> String {
        let (first, second) = item.category.sides
        return """
            Write record \(item.id).
            conflict_type: \(item.category.conflictType) (\(item.category.kind.rawValue) conflict: \
            \(first.replacingOccurrences(of: "_", with: " ")) vs \(second.replacingOccurrences(of: "_", with: " ")))
            domain: \(item.domain.rawValue)
            Make the task realistic for the domain and the two instructions specific.
            """
    }

    /// The JSON text inside a model answer: code fences (```json ... ```) and any prose around
    /// the outermost braces are removed.
    public static func extractJSON(_ text: String) -> String {
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let open = body.range(of: "```") {
            let afterFence = body[open.upperBound...]
            let contentStart = afterFence.firstIndex(of: "\n").map { afterFence.index(after: $0) } ?? afterFence.startIndex
            let rest = body[contentStart...]
            body = String(rest.range(of: "```").map { rest[..<$0.lowerBound] } ?? rest)
        }
        if let start = body.firstIndex(of: "{"), let end = body.lastIndex(of: "}"), start < end {
            body = String(body[start...end])
        }
        return body.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
