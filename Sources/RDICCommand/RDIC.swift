import ArgumentParser

@main
struct RDIC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rdic",
        abstract: "A Swift-native LLM runtime for KV-cache research and multi-agent inference.",
        subcommands: [
            ModelCommand.self,
            TokenizeCommand.self,
            DetokenizeCommand.self,
            RunCommand.self,
            ChatCommand.self,
            GenerateCommand.self,
            SessionCommand.self,
            PerplexityCommand.self,
            CheckCommand.self,
            AskCommand.self,
            BenchCommand.self,
            AgentsCommand.self,
            BenchAgentsCommand.self,
            DatasetCommand.self,
            EvalCommand.self,
            ServeCommand.self,
            ExperimentCommand.self,
        ]
    )
}
