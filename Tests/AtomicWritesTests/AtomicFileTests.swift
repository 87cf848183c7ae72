import AtomicWrites
import Foundation
import Testing

@Suite struct AtomicFileTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() }

    @Test func writesWholeFileAndLeavesNothingElse() throws {
        let url = folder.appendingPathComponent("a.bin")
        try AtomicFile.write([[1, 2, 3], [], [4, 5]], to: url)
        #expect(try Data(contentsOf: url) == Data([1, 2, 3, 4, 5]))
        try AtomicFile.write(Data("replaced".utf8), to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "replaced")
        #expect(try names() == ["a.bin"])
        try FileManager.default.removeItem(at: folder)
    }

    @Test func refusesToReplaceWhenAskedNotTo() throws {
        let url = folder.appendingPathComponent("keep.txt")
        try AtomicFile.write(Data("first".utf8), to: url, overwrite: false)
        #expect(throws: AtomicFileError.exists(path: url.path)) {
            try AtomicFile.write(Data("second".utf8), to: url, overwrite: false)
        }
        #expect(try String(contentsOf: url, encoding: .utf8) == "first")
        #expect(try names() == ["keep.txt"])
        try FileManager.default.removeItem(at: folder)
    }

    @Test func missingFolderIsAClearError() throws {
        let url = folder.appendingPathComponent("no/such/dir/x.json")
        do {
            try AtomicFile.write(Data("x".utf8), to: url)
            Issue.record("wrote into a missing folder")
        } catch {
            #expect(error.description.contains(url.path))
            #expect(error.reason.contains("No such file"))
        }
        try FileManager.default.removeItem(at: folder)
    }

    @Test func copyReplacesAtomically() throws {
        let source = folder.appendingPathComponent("src"), destination = folder.appendingPathComponent("dst")
        try AtomicFile.write(Data(repeating: 7, count: 100_000), to: source)
        try AtomicFile.write(Data("old".utf8), to: destination)
        try AtomicFile.copy(from: source, to: destination, overwrite: true)
        #expect(try Data(contentsOf: destination) == Data(repeating: 7, count: 100_000))
        #expect(try names() == ["dst", "src"])
        try FileManager.default.removeItem(at: folder)
    }
}
