// Package delugetest parses and runs the subset of Deluge that Tasker's forwarder
// scripts (deluge/scripts) use, so tests can execute every shipped script with its
// handler's attributes bound and its invokeurl reaching an httptest server. Only
// tests import it.
//
// Parse turns a script into a Program. Program.Check applies Cliq's save-time rule
// (every variable read is an attribute or assigned earlier; attributes are never
// assigned) and Program.Run executes it against an Env.
//
// # Language
//
// Statements: assignment, if / else if / else, for each (with break and continue),
// try / catch (e) with e.message and e.lineNo, return (with or without a value),
// info, and calls standing alone. Comments // and /* */.
//
// Expressions: text with \" \\ \n \t (and \r) escapes, longs, decimals, true,
// false, null, {"k":v} maps, {a, b} and [a, b] lists ({} is an empty map), ( ),
// unary ! and -, * / %, + -, == != < > <= >=, && and || (short-circuit; both sides
// must be booleans), method calls, if(c, a, b), ifnull / ifNull, isNull, isBlank,
// Map() / List() (and map() / list()), zoho.currenttime, zoho.encryption.hmacsha256,
// base64Encode and base64Decode, zoho.cliq.postToChannel, and invokeurl with the
// keys url, type, headers, body, parameters, content-type and detailed.
//
// # Semantics chosen where Deluge's are undocumented
//
//   - + concatenates when either side is text; null then renders as "". Other
//     values render as toString() does.
//   - long op long stays long, except / which always gives a decimal.
//   - == between different types is false, except long against decimal.
//   - toString() of a map or list is compact JSON in insertion order; a decimal is
//     Go's shortest form without exponent; a date-time is dd-MMM-yyyy HH:mm:ss.
//   - Any method call on null, toString() included, is a runtime error.
//   - "" + e for a caught error gives "<message> (line <n>)".
//   - for each iterates a list only (a copy taken when the loop starts).
//   - Reading an undefined variable, exceeding Env.MaxSteps and ctx ending are
//     fatal: try does not catch them. Other runtime errors are catchable.
//
// Run's result is JSON-shaped Go: maps become *Object (ordered keys, marshals in
// order), lists []any, numbers json.Number, date-times and errors their text.
package delugetest
