import Testing
@testable import Statistics
