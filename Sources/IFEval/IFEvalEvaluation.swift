import Foundation

/// One line of the benchmark's `input_data.jsonl`.
public struct IFEvalInput: Codable, Sendable, Equatable {
    public var key: Int
    public var prompt: String
    public var instructionIDList: [String]
    /// Arguments per instruction; the benchmark writes absent ones as `null`.
    public var kwargs: [[String: IFEvalValue?]]

    public init(key: Int, prompt: String, instructionIDList: [String], kwargs: [[String: IFEvalValue?]]) {
        self.key = key
        self.prompt = prompt
        self.instructionIDList = instructionIDList
        self.kwargs = kwargs
    }

    enum CodingKeys: String, CodingKey {
        case key, prompt, kwargs
        case instructionIDList = "instruction_id_list"
    }

    /// The instructions with `null` arguments left out, as the reference passes them.
    public func constraints() throws(IFEvalError) -> [InstructionConstraint] {
        guard kwargs.count == instructionIDList.count else {
            throw IFEvalError("prompt \(key): \(instructionIDList.count) instruction ids but \(kwargs.count) kwargs entries")
        }
        return zip(instructionIDList, kwargs).map { id, arguments in
            InstructionConstraint(id: id, kwargs: arguments.compactMapValues { $0 })
        }
    }
}

/// One line of the benchmark's response file.
public struct IFEvalResponse: Codable, Sendable, Equatable {
    public var prompt: String
    public var response: String

    public init(prompt: String, response: String) {
        self.prompt = prompt
        self.response = response
    }
}

/// One line of `eval_results_strict.jsonl` / `eval_results_loose.jsonl`.
public struct IFEvalOutput: Codable, Sendable, Equatable {
    public var instructionIDList: [String]
    public var prompt: String
    public var response: String
    public var followAllInstructions: Bool
    public var followInstructionList: [Bool]

    enum CodingKeys: String, CodingKey {
        case prompt, response
        case instructionIDList = "instruction_id_list"
        case followAllInstructions = "follow_all_instructions"
        case followInstructionList = "follow_instruction_list"
    }
}

public enum IFEvalMode: String, Sendable, CaseIterable {
    case strict, loose
}

/// The reference's `evaluation_lib`: strict and loose scoring, accuracy reports.
public struct IFEvalEvaluator: Sendable {
    public var tools: TextTools

    public init(tools: TextTools = .init()) {
        self.tools = tools
    }

    /// Whether `response` follows each constraint; loose also accepts the response without its
    /// first line, its last line, both, and each of those with asterisks removed.
    public func follows(_ constraints: [InstructionConstraint], response: String, mode: IFEvalMode) throws(IFEvalError) -> [Bool] {
        let candidates = mode == .strict ? [response] : Self.looseVariants(response)
        var results: [Bool] = []
        for constraint in constraints {
            let checker = try InstructionChecker(constraint, tools: tools)
            results.append(candidates.contains { !PythonText.strip($0).isEmpty && checker.check($0) })
        }
        return results
    }

    public static func looseVariants(_ response: String) -> [String] {
        let lines = PythonText.split(response, separator: "\n")
        let removeFirst = PythonText.strip(lines.dropFirst().joined(separator: "\n"))
        let removeLast = PythonText.strip(lines.dropLast().joined(separator: "\n"))
        let removeBoth = PythonText.strip(lines.count >= 2 ? lines.dropFirst().dropLast().joined(separator: "\n") : "")
        let noStars = { (text: String) in text.replacingOccurrences(of: "*", with: "") }
        return [response, noStars(response), removeFirst, removeLast, removeBoth,
                noStars(removeFirst), noStars(removeLast), noStars(removeBoth)]
    }

    public func evaluate(_ input: IFEvalInput, response: String, mode: IFEvalMode) throws(IFEvalError) -> IFEvalOutput {
        let followed = try follows(input.constraints(), response: response, mode: mode)
        return IFEvalOutput(instructionIDList: input.instructionIDList, prompt: input.prompt, response: response,
                            followAllInstructions: followed.allSatisfy { $0 }, followInstructionList: followed)
    }

    /// Scores every input against the response given for its prompt.
    public func evaluate(_ inputs: [IFEvalInput], responses: [String: String], mode: IFEvalMode) throws(IFEvalError) -> [IFEvalOutput] {
        var outputs: [IFEvalOutput] = []
        for input in inputs {
            guard let response = responses[input.prompt] else {
                throw IFEvalError("no response for the prompt of key \(input.key): \(input.prompt.prefix(60))…")
            }
            do {
                outputs.append(try evaluate(input, response: response, mode: mode))
            } catch {
                throw IFEvalError("key \(input.key): \(error.message)")
            }
        }
        return outputs
    }
}

/// Prompt-level, instruction-level and per-instruction accuracy, as `evaluation_main` prints them.
public struct IFEvalReport: Sendable, Equatable {
    public var promptLevel: Double
    public var instructionLevel: Double
    public var byCategory: [(String, Double)]
    public var byInstruction: [(String, Double)]

    public init(_ outputs: [IFEvalOutput]) {
        var instructionTotal = 0, instructionCorrect = 0
        var categories: [String: (Int, Int)] = [:], instructions: [String: (Int, Int)] = [:]
        for output in outputs {
            instructionTotal += output.instructionIDList.count
            instructionCorrect += output.followInstructionList.filter { $0 }.count
            for (id, followed) in zip(output.instructionIDList, output.followInstructionList) {
                let category = String(id.split(separator: ":", maxSplits: 1).first ?? "")
                categories[category, default: (0, 0)].0 += 1
                categories[category, default: (0, 0)].1 += followed ? 1 : 0
                instructions[id, default: (0, 0)].0 += 1
                instructions[id, default: (0, 0)].1 += followed ? 1 : 0
            }
        }
        promptLevel = outputs.isEmpty ? 0 : Double(outputs.filter(\.followAllInstructions).count) / Double(outputs.count)
        instructionLevel = instructionTotal == 0 ? 0 : Double(instructionCorrect) / Double(instructionTotal)
        byCategory = categories.keys.sorted().map { ($0, Double(categories[$0]!.1) / Double(categories[$0]!.0)) }
        byInstruction = instructions.keys.sorted().map { ($0, Double(instructions[$0]!.1) / Double(instructions[$0]!.0)) }
    }

    public static func == (a: IFEvalReport, b: IFEvalReport) -> Bool {
        a.promptLevel == b.promptLevel && a.instructionLevel == b.instructionLevel
            && a.byCategory.elementsEqual(b.byCategory, by: ==) && a.byInstruction.elementsEqual(b.byInstruction, by: ==)
    }

    /// The text `print_report` writes.
    public var text: String {
        var lines = ["prompt-level: \(promptLevel)", "instruction-level: \(instructionLevel)", ""]
        lines += byCategory.map { "\($0.0) \($0.1)" }
        lines.append("")
        lines += byInstruction.map { "\($0.0) \($0.1)" }
        return lines.joined(separator: "\n")
    }
}
