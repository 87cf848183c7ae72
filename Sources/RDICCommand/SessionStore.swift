import Agents
import Foundation
import ModelStore

/// The CLI's named sessions: `<model store home>/sessions`.
enum SessionStore {
    static var library: SessionLibrary {
        SessionLibrary(directory: ModelStore.fromEnvironment().home.appendingPathComponent("sessions", isDirectory: true))
    }
}
