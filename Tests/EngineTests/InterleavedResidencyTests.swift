import Foundation
import Models
import TensorFormats
import TestSupport
import Testing

/// What a loaded model says its weights keep resident: the file with each copied tensor
/// counted at its copy's size (the file pages are dropped), a few percent over the file
/// (padding of the 16-row groups); the file itself where nothing is copied.
@Suite(.computeBound) struct InterleavedResidencyTests {
    @Test(arguments: [TestModels.Name.gemma3, .smollm2])
    func weightBytesCountTheCopiesNotTheFileTwice(_ name: TestModels.Name) throws {
        let model = try Loaded.model(name)
        let file = model.file.fileSize
        #if arch(x86_64)
        // Both models have matrices of the 32-element formats, which every kernel set copies.
        #expect(model.weightBytes > file)
        #expect(Double(model.weightBytes) < Double(file) * 1.15, "\(model.weightBytes) vs file \(file)")
        #else
        #expect(model.weightBytes == file)
        #endif
    }

    @Test(arguments: [TestModels.Name.gemma3, .smollm2])
    func llamaCppNumericsMakeNoCopies(_ name: TestModels.Name) throws {
        let model = try Loaded.model(name, numerics: .llamaCpp)
        #expect(model.weightBytes == model.file.fileSize)
    }
}
