import ArgumentParser
import Models

extension Numerics: ExpressibleByArgument {}
