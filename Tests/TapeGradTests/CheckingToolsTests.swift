import Testing
import TapeGrad

/// Produces NaN in backward (PyTorch: 'NaNFnBackward' returned nan values in its 0th output).
enum NaNFn: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor { input * 2 }
    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? { gradOutput * Double.nan }
}

/// x³ with a correct first derivative computed without recording: not twice differentiable.
enum CubeOnce: Function {
    static func forward(_ ctx: FunctionContext, _ input: Tensor) throws -> Tensor {
        ctx.saveForBackward(input)
        return input.pow(3)
    }

    static func backward(_ ctx: FunctionContext, _ gradOutput: Tensor) throws -> Tensor? {
        let x = ctx.savedTensors[0]
        return noGrad { gradOutput * 3 * x * x }
    }
}

/// gradcheck, gradgradcheck and anomaly mode, against PyTorch 2.15.
@Suite struct CheckingToolsTests {
    static func float64(_ values: [Double], requiresGrad: Bool = true) -> Tensor {
        try! Tensor(values: values, shape: [values.count], dtype: .float64, requiresGrad: requiresGrad)
    }

    // MARK: gradcheck / gradgradcheck

    @Test func gradcheckPassesOnCorrectFunctions() throws {
        let x = Self.float64([1.0, 2.0]), y = Self.float64([0.5, -0.5])
        #expect(try gradcheck({ $0[0].tanh() * $0[1] }, inputs: [x, y]))
        #expect(try gradcheck({ $0[0].pow(3) }, inputs: [x]))
        #expect(try gradcheck({ try MyReLU.apply($0[0] - 0.25) }, inputs: [Self.float64([-1.0, 0.5, 2.0])]))
        #expect(try gradcheck({ try CubeOnce.apply($0[0]) }, inputs: [Self.float64([0.5, 1.5])]))
        // Only inputs that require grad are checked.
        #expect(try gradcheck({ $0[0] * $0[1] }, inputs: [x, Self.float64([3.0, 4.0], requiresGrad: false)]))
    }

    @Test func gradcheckThrowsOnAWrongBackward() {
        let x = Self.float64([1.0, 2.0])
        let error = #expect(throws: TapeGradError.self) { try gradcheck({ try Halves.apply($0[0]) }, inputs: [x]) }
        #expect(error?.kind == .runtimeError)
        #expect(error?.message.hasPrefix("Jacobian mismatch for output 0 with respect to input 0,\nnumerical:") == true)
        // Input 1 is named when it is the wrong one.
        let y = Self.float64([0.5, 0.25])
        let second = #expect(throws: TapeGradError.self) {
            try gradcheck({ xs in try Halves.apply(xs[1]) + xs[0] }, inputs: [x, y])
        }
        #expect(second?.message.hasPrefix("Jacobian mismatch for output 0 with respect to input 1,") == true)
    }

    @Test func gradgradcheckPassesOnSmoothFunctions() throws {
        let x = Self.float64([1.0, 2.0]), y = Self.float64([0.5, -0.5])
        #expect(try gradgradcheck({ $0[0].tanh() * $0[1] }, inputs: [x, y]))
        #expect(try gradgradcheck({ $0[0].pow(3) }, inputs: [x]))
        #expect(try gradgradcheck({ ($0[0] * $0[1]).sin().sum() }, inputs: [x, y]))
        let m = try Tensor(values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], shape: [2, 3], dtype: .float64, requiresGrad: true)
        let n = try Tensor(values: [0.3, -0.2, 0.1, 0.7, 0.5, -0.4], shape: [3, 2], dtype: .float64, requiresGrad: true)
        #expect(try gradgradcheck({ try $0[0].mm($0[1]).exp() }, inputs: [m, n]))
    }

    @Test func gradgradcheckCatchesABackwardThatIsNotDifferentiable() {
        // PyTorch raises GradcheckError("Numerical gradient for function expected to be zero").
        // TapeGrad reports it as a Jacobian mismatch (analytical zeros); either text is fine here,
        // but not an error about the check's own inputs.
        let x = Self.float64([0.5, 1.5])
        let error = #expect(throws: TapeGradError.self) { try gradgradcheck({ try CubeOnce.apply($0[0]) }, inputs: [x]) }
        #expect(error?.kind == .runtimeError)
        let message = error?.message ?? ""
        #expect(message.hasPrefix("Jacobian mismatch for output 0 with respect to input 0,")
                || message == "Numerical gradient for function expected to be zero", "\(message)")
    }

    // MARK: Anomaly mode

    @Test func detectAnomalyTurnsTheModeOnForItsBody() {
        #expect(!isAnomalyEnabled)
        let inside = detectAnomaly { isAnomalyEnabled }
        #expect(inside)
        #expect(!isAnomalyEnabled)
        setDetectAnomaly(true)
        #expect(isAnomalyEnabled)
        setDetectAnomaly(false)
        #expect(!isAnomalyEnabled)
    }

    @Test func detectAnomalyWarnsWhenEntered() {
        let (_, warnings) = WarningCapture.capture { detectAnomaly { () } }
        #expect(warnings.contains("Anomaly Detection has been enabled. This mode will increase the runtime and should only be enabled for debugging."))
    }

    @Test func nanInBackwardIsAnErrorInAnomalyMode() throws {
        let x = Tensor([0.0, 1.0], requiresGrad: true)
        let (error, warnings) = WarningCapture.capture {
            detectAnomaly {
                #expect(throws: TapeGradError.self) { try (x.sqrt() * 0).sum().backward() }
            }
        }
        #expect(error == TapeGradError(.runtimeError, "Function 'SqrtBackward0' returned nan values in its 0th output."))
        #expect(warnings.contains { $0.hasPrefix("Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n") })
        #expect(x.grad == nil)

        // Without anomaly mode the NaN reaches .grad, as in PyTorch: tensor([nan, 0.]).
        try (x.sqrt() * 0).sum().backward()
        #expect(x.grad?.description == "tensor([nan, 0.])")
    }

    @Test func nanFromACustomBackward() {
        let x = Tensor([0.0, 1.0], requiresGrad: true)
        let (error, warnings) = WarningCapture.capture {
            detectAnomaly {
                #expect(throws: TapeGradError.self) { try NaNFn.apply(x).sum().backward() }
            }
        }
        #expect(error == TapeGradError(.runtimeError, "Function 'NaNFnBackward' returned nan values in its 0th output."))
        #expect(warnings.contains { $0.hasPrefix("Error detected in NaNFnBackward. Traceback of forward call that caused the error:\n") })
    }

    @Test func failingBackwardIsReportedInAnomalyMode() {
        let (error, warnings) = WarningCapture.capture {
            detectAnomaly {
                let x = Tensor([1.0, 2.0], requiresGrad: true)
                let y = x + 1
                let z = y * y
                try! y.add_(1.0)
                return #expect(throws: TapeGradError.self) { try z.sum().backward() }
            }
        }
        #expect(error?.message.hasPrefix("one of the variables needed for gradient computation has been modified by an inplace operation: [torch.FloatTensor [2]], which is output 0 of ") == true)
        let reports = warnings.filter { $0.hasPrefix("Error detected in MulBackward0. Traceback of forward call that caused the error:\n") }
        #expect(reports.count == 1)
        // The traceback says where the failing op was made.
        #expect((reports.first?.count ?? 0) > "Error detected in MulBackward0. Traceback of forward call that caused the error:\n".count)
    }

    @Test func anomalyModeChangesTheInPlaceHint() {
        // PyTorch 2.15, inside detect_anomaly(): the hint points at the backtrace instead.
        let error = WarningCapture.capture {
            detectAnomaly {
                let x = Tensor([1.0, 2.0], requiresGrad: true)
                let y = x + 1
                let z = y * y
                try! y.add_(1.0)
                return #expect(throws: TapeGradError.self) { try z.sum().backward() }
            }
        }.result
        #expect(error?.message.hasSuffix(" is at version 1; expected version 0 instead. Hint: the backtrace further above shows the operation that failed to compute its gradient. The variable in question was changed in there or anywhere later. Good luck!") == true, "\(error?.message ?? "")")
    }

    @Test func failingBackwardOutsideAnomalyModeIsNotReported() {
        let (_, warnings) = WarningCapture.capture {
            let x = Tensor([1.0, 2.0], requiresGrad: true)
            let y = x + 1
            let z = y * y
            try! y.add_(1.0)
            #expect(throws: TapeGradError.self) { try z.sum().backward() }
        }
        #expect(!warnings.contains { $0.hasPrefix("Error detected in MulBackward0.") })
    }

    @Test func anomalyModeDoesNotChangeCorrectGradients() throws {
        let x = Tensor([1.0, 2.0], requiresGrad: true)
        try detectAnomaly { () throws(TapeGradError) in try (x * x).sum().backward() }
        #expect(x.grad?.description == "tensor([2., 4.])")
    }
}
