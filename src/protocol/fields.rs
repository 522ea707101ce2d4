//! Typed reads of the fields of a JSON object that is already parsed: a request body is parsed once,
//! into a `Value`, and its wire types are read from it here instead of through serde's `from_value`
//! (a second pass that also put a copy of every wire type's deserializer into the wasm). Strings and
//! nested values are moved out, not copied. Errors name the field, as the derived deserializers' did.

use serde_json::{Map, Value};

/// A JSON object whose fields are taken one by one.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// `value` as an object, or what it is instead.
    pub fn of(value: Value) -> Result<Fields, String> {
        match value {
            Value::Object(map) => Ok(Fields(map)),
            other => Err(format!("expected an object, got {}", json_type(&other))),
        }
    }

    /// Copies of `keys` of `map` (those present), to read while `map` itself is kept whole.
    pub fn copy_of(map: &Map<String, Value>, keys: &[&str]) -> Fields {
        Fields(keys.iter().filter_map(|k| Some((k.to_string(), map.get(*k)?.clone()))).collect())
    }

    /// A field that must be present (any JSON value but `null`).
    pub fn value(&mut self, key: &str) -> Result<Value, String> {
        self.optional_value(key).ok_or_else(|| format!("missing field `{key}`"))
    }

    /// A field that may be absent or `null`.
    pub fn optional_value(&mut self, key: &str) -> Option<Value> {
        self.0.remove(key).filter(|v| !v.is_null())
    }

    pub fn string(&mut self, key: &str) -> Result<String, String> {
        into_string(self.value(key)?, key)
    }

    pub fn optional_string(&mut self, key: &str) -> Result<Option<String>, String> {
        self.optional_value(key).map(|v| into_string(v, key)).transpose()
    }

    /// A non-negative integer that fits `u64`.
    pub fn u64(&mut self, key: &str) -> Result<u64, String> {
        let value = self.value(key)?;
        value.as_u64().ok_or_else(|| format!("`{key}`: expected a non-negative integer, got {}", json_type(&value)))
    }

    pub fn optional_u64(&mut self, key: &str) -> Result<Option<u64>, String> {
        match self.optional_value(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("`{key}`: expected an integer, got {}", json_type(&value))),
        }
    }

    /// An object field that may be absent or `null`.
    pub fn optional_object(&mut self, key: &str) -> Result<Option<Map<String, Value>>, String> {
        match self.optional_value(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(other) => Err(format!("`{key}`: expected an object, got {}", json_type(&other))),
        }
    }

    /// The fields not taken yet.
    pub fn into_rest(self) -> Map<String, Value> {
        self.0
    }
}

fn into_string(value: Value, key: &str) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(format!("`{key}`: expected a string, got {}", json_type(&other))),
    }
}

/// A JSON value's type, for error messages (never the value itself).
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(value: Value) -> Fields {
        Fields::of(value).unwrap()
    }

    #[test]
    fn takes_typed_fields_and_names_the_missing_and_the_mistyped() {
        let mut f = fields(json!({"s": "x", "n": 7, "o": {"a": 1}, "z": null, "rest": true}));
        assert_eq!(f.string("s").unwrap(), "x");
        assert_eq!(f.u64("n").unwrap(), 7);
        assert_eq!(f.optional_object("o").unwrap().unwrap()["a"], 1);
        assert_eq!(f.optional_string("z").unwrap(), None);
        assert_eq!(f.optional_string("absent").unwrap(), None);
        assert_eq!(f.into_rest(), json!({"rest": true}).as_object().unwrap().clone());

        let mut f = fields(json!({"s": 1, "n": -1, "o": []}));
        assert_eq!(f.string("missing").unwrap_err(), "missing field `missing`");
        assert_eq!(f.string("s").unwrap_err(), "`s`: expected a string, got a number");
        assert!(f.u64("n").unwrap_err().contains("non-negative integer"));
        assert!(f.optional_object("o").unwrap_err().contains("an array"));
        assert!(Fields::of(json!("text")).is_err());

        let whole = json!({"a": "x", "b": {"big": true}});
        let mut copy = Fields::copy_of(whole.as_object().unwrap(), &["a", "absent"]);
        assert_eq!(copy.string("a").unwrap(), "x");
        assert_eq!(copy.into_rest(), Map::new(), "only the keys asked for, and only those present");
    }
}
