import Foundation
import Money
import Testing

@Suite struct FixedDecimalTests {
    func decimal(_ text: String) throws -> FixedDecimal { try FixedDecimal(parsing: text) }

    @Test func binanceStringsRoundTripWithoutLoss() throws {
        #expect(try decimal("0.00010000").description == "0.0001")
        #expect(try decimal("0.00010000").units == 100_000_000_000_000)
        #expect(try decimal("64250.01").description == "64250.01")
        #expect(try decimal("-12.50").description == "-12.5")
        #expect(try decimal("42").description == "42")
        #expect(try decimal("0.000000000000000001").units == 1)
        #expect(try decimal("1.0000000000000000000000").description == "1", "zeros past 18 places are no loss")
        #expect(try decimal("170141183460469231731.687303715884105727") == .max)
        #expect(try decimal("0.00100000").text(places: 8) == "0.00100000")
        #expect(try decimal("5").text(places: 2) == "5.00")
        #expect(try decimal("0.01000000").places == 2)
    }

    @Test func malformedTextIsRefusedNamingTheProblem() {
        func problem(_ text: String) -> String {
            do {
                _ = try FixedDecimal(parsing: text)
                return "accepted"
            } catch {
                return error.description
            }
        }
        #expect(problem("") == "\"\" is not a decimal number: empty")
        #expect(problem("1e-8") == "\"1e-8\" is not a decimal number: unexpected character \"e\"")
        #expect(problem(" 1") == "\" 1\" is not a decimal number: unexpected character \" \"")
        #expect(problem("+1") == "\"+1\" is not a decimal number: unexpected character \"+\"")
        #expect(problem("1.2.3") == "\"1.2.3\" is not a decimal number: more than one decimal point")
        #expect(problem(".5") == "\".5\" is not a decimal number: no digit before the point")
        #expect(problem("5.") == "\"5.\" is not a decimal number: no digit after the point")
        #expect(problem("-") == "\"-\" is not a decimal number: no digit before the point")
        #expect(problem("1,000") == "\"1,000\" is not a decimal number: unexpected character \",\"")
        #expect(problem("0.0000000000000000001") == "\"0.0000000000000000001\" has more than 18 decimal places")
        #expect(problem("170141183460469231732") == "\"170141183460469231732\" is out of range (±170141183460469231731.687303715884105727)")
        #expect(FixedDecimal("NaN") == nil)
    }

    @Test func roundingModesActOnTiesAsPythonsDecimalDoes() throws {
        let cases: [(String, RoundingMode, String)] = [
            ("2.5", .halfEven, "2"), ("3.5", .halfEven, "4"), ("-2.5", .halfEven, "-2"), ("2.5", .halfUp, "3"),
            ("-2.5", .halfUp, "-3"), ("2.9", .down, "2"), ("-2.9", .down, "-2"), ("2.1", .up, "3"), ("-2.1", .up, "-3"),
            ("-2.1", .floor, "-3"), ("2.9", .floor, "2"), ("2.1", .ceiling, "3"), ("-2.9", .ceiling, "-2"),
        ]
        for (text, mode, expected) in cases {
            #expect(try decimal(text).rounded(scale: 0, rounding: mode).description == expected, "\(text) \(mode)")
        }
    }

    @Test func pricesGoToTheTickAndQuantitiesDownToTheStep() throws {
        let tick = try Price(parsing: "0.01000000")
        #expect(try Price(parsing: "64250.015").rounded(toTick: tick, rounding: .halfEven).description == "64250.02")
        #expect(try Price(parsing: "64250.019").rounded(toTick: tick, rounding: .down).description == "64250.01")
        let step = try Quantity(parsing: "0.00100000")
        #expect(try Quantity(parsing: "0.0129").rounded(downToStep: step).description == "0.012")
        #expect(try Quantity(parsing: "0.0009").rounded(downToStep: step) == .zero)
        #expect(throws: FixedDecimalError.invalidStep("0")) { try Quantity(parsing: "1").rounded(downToStep: .zero) }
        let notional = try Money.notional(of: Quantity(parsing: "0.00123456"), at: Price(parsing: "64250.01"))
        #expect(notional.description == "79.3204923456", "exact: 8 + 2 places")
        #expect(try notional.rounded(scale: 2).description == "79.32")
        #expect(try Money(parsing: "0.125").rounded(scale: 2).description == "0.12", "half-even for money")
    }

    @Test func overflowIsAnErrorNeverAWrap() throws {
        #expect(throws: FixedDecimalError.self) { try FixedDecimal.max + FixedDecimal(units: 1) }
        #expect(throws: FixedDecimalError.self) { try FixedDecimal.min - FixedDecimal(units: 1) }
        #expect(throws: FixedDecimalError.self) { try FixedDecimal.max.multiplied(by: FixedDecimal(2)) }
        #expect(throws: FixedDecimalError.divisionByZero) { try FixedDecimal(1).divided(by: .zero, scale: 2, rounding: .halfEven) }
        #expect(throws: FixedDecimalError.invalidScale(19)) { try FixedDecimal(1).rounded(scale: 19, rounding: .down) }
        #expect(try FixedDecimal(1).divided(by: FixedDecimal(3), scale: 8, rounding: .halfEven).description == "0.33333333")
    }

    @Test func jsonCarriesAmountsAsStringsOnly() throws {
        struct Fill: Codable, Equatable {
            var price: Price
            var quantity: Quantity
            var fee: Money
        }
        let fill = Fill(price: try Price(parsing: "0.1"), quantity: try Quantity(parsing: "3"), fee: try Money(parsing: "0.0003"))
        let encoded = String(decoding: try JSONEncoder().encode(fill), as: UTF8.self)
        #expect(encoded.contains("\"price\":\"0.1\"") && encoded.contains("\"quantity\":\"3\"") && encoded.contains("\"fee\":\"0.0003\""))
        #expect(try JSONDecoder().decode(Fill.self, from: Data(encoded.utf8)) == fill)
        let number = Data(#"{"price": 0.1, "quantity": "3", "fee": "0"}"#.utf8)
        #expect {
            try JSONDecoder().decode(Fill.self, from: number)
        } throws: { error in
            "\(error)".contains("an amount must be a decimal string")
        }
        let malformed = Data(#"{"price": "0.1x", "quantity": "3", "fee": "0"}"#.utf8)
        #expect {
            try JSONDecoder().decode(Fill.self, from: malformed)
        } throws: { error in
            "\(error)".contains("unexpected character \\\"x\\\"") || "\(error)".contains("unexpected character \"x\"")
        }
    }
}
