import Foundation
import Testing

import CodexProofs

/// The upstream circuit fixture decoded through the circom input structure.
func loadFixture() throws -> CircuitInput {
  try JSONDecoder().decode(CircuitInput.self, from: Vectors.data("circuit-input.json"))
}

@Suite struct SamplerTests {
  @Test func fixtureCellIndices() throws {
    let input = try loadFixture()
    #expect(input.entropy == Fr(1_234_567))
    #expect(input.nCellsPerSlot == 512 && input.nSlotsPerDataSet == 11 && input.slotIndex == 3)
    let indices = try Sampler.cellIndices(entropy: input.entropy, slotRoot: input.slotRoot, cellCount: 512, samples: 5)
    #expect(indices == [287, 21, 307, 157, 508])
    let json = try Vectors.json("poseidon2.json")
    let fixture = try #require(json["sampler_fixture"] as? [String: Any])
    #expect(indices == (fixture["cell_indices"] as? [Int]))
  }

  @Test func fixturePathsReconstructRoots() throws {
    let input = try loadFixture()
    let indices = [287, 21, 307, 157, 508]
    for (k, index) in indices.enumerated() {
      let path = input.merklePaths[k]
      #expect(path.count == 32)
      #expect(path[9...].allSatisfy { $0.isZero })
      let leaf = Poseidon2Sponge.digest(input.cellData[k])
      let blockRoot = Poseidon2Proof(index: index % 32, leafCount: 32, path: Array(path[0..<5])).reconstructRoot(
        leaf: leaf)
      let slotProof = Poseidon2Proof(index: index / 32, leafCount: 16, path: Array(path[5..<9]))
      #expect(slotProof.verify(leaf: blockRoot, root: input.slotRoot), "sample \(k)")
    }
    #expect(input.slotProof[4...].allSatisfy { $0.isZero })
    let datasetProof = Poseidon2Proof(index: 3, leafCount: 11, path: Array(input.slotProof[0..<4]))
    #expect(datasetProof.verify(leaf: input.slotRoot, root: input.dataSetRoot))
  }

  @Test func verifierAcceptsFixtureAndRoundTripsPadding() throws {
    let input = try loadFixture()
    try SampleVerifier.verify(input, datasetRoot: input.dataSetRoot, sampleCount: 5)
    let unpadded = try input.proofInput()
    #expect(unpadded.samples.map(\.cellIndex) == [287, 21, 307, 157, 508])
    #expect(unpadded.slotProof.count == 4)
    #expect(unpadded.samples.allSatisfy { $0.merklePath.count == 9 })
    #expect(try CircuitInput(unpadded) == input)
    #expect(input.publicSignals == [Fr(1_234_567), input.dataSetRoot, Fr(3)])
    // JSON round trip keeps the circom field names and decimal strings.
    let encoded = try JSONEncoder().encode(input)
    #expect(try JSONDecoder().decode(CircuitInput.self, from: encoded) == input)
    let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
    #expect(object["entropy"] as? String == "1234567")
    #expect(Set(object.keys) == Set(try Vectors.json("circuit-input.json").keys))
  }

  @Test func verifierRejectsChangedCellByte() throws {
    var input = try loadFixture()
    var bytes = input.cellData[2][10].bytes
    bytes[0] ^= 0x01
    input.cellData[2][10] = try Fr(bytes: bytes)
    #expect(throws: SampleVerificationError.cellPathMismatch(sample: 2)) {
      try SampleVerifier.verify(input, sampleCount: 5)
    }
  }

  @Test func verifierRejectsChangedIndex() throws {
    var unpadded = try loadFixture().proofInput()
    unpadded.samples[1].cellIndex = 22
    #expect(throws: SampleVerificationError.cellIndexMismatch(sample: 1, expected: 21, actual: 22)) {
      try SampleVerifier.verify(unpadded)
    }
  }

  @Test func verifierRejectsChangedEntropy() throws {
    var input = try loadFixture()
    input.entropy = Fr(1_234_568)
    #expect(throws: SampleVerificationError.self) { try SampleVerifier.verify(input) }
    var unpadded = try loadFixture().proofInput()
    unpadded.entropy = Fr(1_234_568)
    #expect {
      try SampleVerifier.verify(unpadded)
    } throws: { error in
      if case .cellIndexMismatch = error as? SampleVerificationError { return true }
      return false
    }
  }

  @Test func verifierRejectsWrongSlotOrDataset() throws {
    let input = try loadFixture()
    var wrongSlot = input
    wrongSlot.slotIndex = 4
    #expect(throws: SampleVerificationError.slotNotInDataset) { try SampleVerifier.verify(wrongSlot) }
    #expect(throws: SampleVerificationError.datasetRootMismatch) {
      try SampleVerifier.verify(input, datasetRoot: input.dataSetRoot + .one)
    }
    var wrongRoot = input
    wrongRoot.dataSetRoot += .one
    #expect(throws: SampleVerificationError.slotNotInDataset) { try SampleVerifier.verify(wrongRoot) }
    #expect(throws: SampleVerificationError.wrongSampleCount(expected: 6, actual: 5)) {
      try SampleVerifier.verify(input, sampleCount: 6)
    }
    var dirtyPadding = input
    dirtyPadding.merklePaths[0][20] = .one
    #expect(throws: SampleVerificationError.self) { try SampleVerifier.verify(dirtyPadding) }
  }

  @Test func entropyFromChallenge() throws {
    var challenge = [UInt8](repeating: 0, count: 32)
    challenge[0] = 0x87
    challenge[1] = 0xd6
    challenge[2] = 0x12
    challenge[31] = 0xff  // the last byte is ignored
    #expect(try Sampler.entropy(challenge: challenge) == Fr(1_234_567))
    #expect(throws: SamplerError.wrongChallengeLength(31)) { try Sampler.entropy(challenge: challenge.prefix(31)) }
    #expect(throws: SamplerError.cellCountNotPowerOfTwo(500)) {
      try Sampler.cellIndex(entropy: 1, slotRoot: 2, counter: 1, cellCount: 500)
    }
    #expect(throws: SamplerError.invalidSampleCount(0)) {
      try Sampler.cellIndices(entropy: 1, slotRoot: 2, cellCount: 512, samples: 0)
    }
    #expect(try Sampler.cellIndex(entropy: 1, slotRoot: 2, counter: 1, cellCount: 1) == 0)
  }

  @Test func fuzzCircuitInputDecodingAndVerificationNeverTrap() throws {
    let original = [UInt8](try Vectors.data("circuit-input.json"))
    var rng = SplitMix64(state: 77)
    var decoded = 0
    let alphabet = Array("0123456789,[]\"x -".utf8)
    for _ in 0..<150 {
      var bytes = original
      for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let i = Int.random(in: 0..<bytes.count, using: &rng)
        bytes[i] = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
      }
      guard let input = try? JSONDecoder().decode(CircuitInput.self, from: Data(bytes)) else { continue }
      decoded += 1
      _ = try? SampleVerifier.verify(input)  // must throw or succeed, never trap
    }
    #expect(decoded > 0)
  }

  @Test func fixtureDecodingRejectsMalformedJSON() throws {
    let original = try Vectors.data("circuit-input.json")
    let text = try #require(String(data: original, encoding: .utf8))
    let broken = text.replacingOccurrences(of: "\"1234567\"", with: "\"12x4567\"")
    #expect(throws: (any Error).self) { try JSONDecoder().decode(CircuitInput.self, from: Data(broken.utf8)) }
  }
}
