/// Why a circuit input could not be formed or read back.
public enum CircuitInputError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A path is longer than the circuit's maximum depth.
  case pathTooLong(length: Int, max: Int)
  /// A padded path does not have the circuit's fixed length.
  case wrongPaddedLength(expected: Int, actual: Int)
  /// A padding entry beyond the real path is not zero.
  case nonZeroPadding(position: Int)
  /// Cell data does not have the circuit's element count.
  case wrongCellElementCount(expected: Int, actual: Int)
  /// The circuit's block tree has depth 5 (32 cells per block).
  case unsupportedCellsPerBlock(Int)
  /// Sample arrays disagree in length.
  case sampleCountMismatch(cellData: Int, paths: Int)
  /// The sizes in the input are inconsistent.
  case sampler(SamplerError)

  public var description: String {
    switch self {
    case .pathTooLong(let length, let max): return "Merkle path of \(length) entries exceeds the circuit maximum \(max)"
    case .wrongPaddedLength(let expected, let actual): return "padded path has \(actual) entries, expected \(expected)"
    case .nonZeroPadding(let position): return "padding entry \(position) of a path is not zero"
    case .wrongCellElementCount(let expected, let actual):
      return "cell data has \(actual) field elements, the circuit takes \(expected)"
    case .unsupportedCellsPerBlock(let n): return "the circuit needs 32 cells per block, got \(n)"
    case .sampleCountMismatch(let cells, let paths): return "\(cells) cell data entries but \(paths) Merkle paths"
    case .sampler(let e): return e.description
    }
  }
}

/// The input of the Codex storage-proof circuit `SampleAndProve(maxDepth = 32, maxLog2NSlots = 8, blockTreeDepth = 5,
/// nFieldElemsPerCell = 67, nSamples)`, with the circom signal names, paths zero-padded to `maxSlotDepth` and
/// `maxDatasetDepth`. Its JSON form (field elements as decimal strings) is the circom/snarkjs input file.
public struct CircuitInput: Sendable, Hashable, Codable {
  /// Maximum combined cell path length (`maxDepth`).
  public static let maxSlotDepth = 32
  /// Maximum verify-tree path length (`maxLog2NSlots`).
  public static let maxDatasetDepth = 8
  /// Cells per block fixed by the circuit (`blockTreeDepth = 5`).
  public static let cellsPerBlock = 32
  /// Field elements per cell fixed by the circuit.
  public static let cellElements = 67

  public var dataSetRoot: Fr
  public var entropy: Fr
  public var nCellsPerSlot: Int
  public var nSlotsPerDataSet: Int
  public var slotIndex: Int
  public var slotRoot: Fr
  /// Verify-tree path, `maxDatasetDepth` entries.
  public var slotProof: [Fr]
  /// `nSamples × 67` cell elements.
  public var cellData: [[Fr]]
  /// `nSamples × maxSlotDepth` combined paths.
  public var merklePaths: [[Fr]]

  /// Pads a `ProofInput` to the circuit's fixed sizes.
  /// - Throws: `CircuitInputError` if a path is too long, cells have the wrong size, or blocks are not 32 cells.
  public init(_ input: ProofInput) throws(CircuitInputError) {
    guard input.cellsPerBlock == CircuitInput.cellsPerBlock else {
      throw .unsupportedCellsPerBlock(input.cellsPerBlock)
    }
    dataSetRoot = input.datasetRoot
    entropy = input.entropy
    nCellsPerSlot = input.cellsPerSlot
    nSlotsPerDataSet = input.slotsPerDataset
    slotIndex = input.slotIndex
    slotRoot = input.slotRoot
    slotProof = try CircuitInput.pad(input.slotProof, to: CircuitInput.maxDatasetDepth)
    cellData = []
    merklePaths = []
    for sample in input.samples {
      guard sample.cellData.count == CircuitInput.cellElements else {
        throw .wrongCellElementCount(expected: CircuitInput.cellElements, actual: sample.cellData.count)
      }
      cellData.append(sample.cellData)
      merklePaths.append(try CircuitInput.pad(sample.merklePath, to: CircuitInput.maxSlotDepth))
    }
  }

  /// The unpadded `ProofInput` this circuit input states, with the cell indices re-derived from the entropy and
  /// slot root (the circuit does the same).
  /// - Throws: `CircuitInputError` for wrong fixed sizes, non-zero padding or invalid cell/slot counts.
  public func proofInput() throws(CircuitInputError) -> ProofInput {
    guard cellData.count == merklePaths.count else {
      throw .sampleCountMismatch(cellData: cellData.count, paths: merklePaths.count)
    }
    do { _ = try Sampler.log2CellCount(nCellsPerSlot) } catch { throw .sampler(error) }
    guard nCellsPerSlot >= CircuitInput.cellsPerBlock else {
      throw .sampler(.cellCountNotMultipleOfBlock(cellCount: nCellsPerSlot, cellsPerBlock: CircuitInput.cellsPerBlock))
    }
    guard nSlotsPerDataSet >= 1, slotIndex >= 0, slotIndex < nSlotsPerDataSet else {
      throw .sampler(.slotIndexOutOfRange(index: slotIndex, slots: nSlotsPerDataSet))
    }
    let blockDepth = Poseidon2Tree.depth(leafCount: CircuitInput.cellsPerBlock)
    let slotDepth = Poseidon2Tree.depth(leafCount: nCellsPerSlot / CircuitInput.cellsPerBlock)
    let datasetDepth = Poseidon2Tree.depth(leafCount: nSlotsPerDataSet)
    let proof = try CircuitInput.unpad(slotProof, length: datasetDepth, paddedLength: CircuitInput.maxDatasetDepth)
    let indices: [Int]
    do {
      indices =
        cellData.isEmpty
        ? []
        : try Sampler.cellIndices(
          entropy: entropy, slotRoot: slotRoot, cellCount: nCellsPerSlot, samples: cellData.count)
    } catch { throw .sampler(error) }
    var samples: [CellSample] = []
    for (k, cells) in cellData.enumerated() {
      guard cells.count == CircuitInput.cellElements else {
        throw .wrongCellElementCount(expected: CircuitInput.cellElements, actual: cells.count)
      }
      let path = try CircuitInput.unpad(
        merklePaths[k], length: blockDepth + slotDepth, paddedLength: CircuitInput.maxSlotDepth)
      samples.append(CellSample(cellIndex: indices[k], cellData: cells, merklePath: path))
    }
    return ProofInput(
      entropy: entropy, datasetRoot: dataSetRoot, slotIndex: slotIndex, slotRoot: slotRoot,
      cellsPerSlot: nCellsPerSlot, slotsPerDataset: nSlotsPerDataSet, cellsPerBlock: CircuitInput.cellsPerBlock,
      slotProof: proof, samples: samples)
  }

  /// The public signals in circuit order `[entropy, dataSetRoot, slotIndex]`.
  public var publicSignals: [Fr] { [entropy, dataSetRoot, Fr(UInt64(max(0, slotIndex)))] }

  static func pad(_ path: [Fr], to length: Int) throws(CircuitInputError) -> [Fr] {
    guard path.count <= length else { throw .pathTooLong(length: path.count, max: length) }
    return path + [Fr](repeating: .zero, count: length - path.count)
  }

  static func unpad(_ padded: [Fr], length: Int, paddedLength: Int) throws(CircuitInputError) -> [Fr] {
    guard padded.count == paddedLength else { throw .wrongPaddedLength(expected: paddedLength, actual: padded.count) }
    guard length <= paddedLength else { throw .pathTooLong(length: length, max: paddedLength) }
    for i in length..<paddedLength where !padded[i].isZero { throw .nonZeroPadding(position: i) }
    return Array(padded[0..<length])
  }
}
