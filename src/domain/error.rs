use std::fmt;

/// A business rule said no. Carries what a developer needs to fix the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// The request is well-formed but breaks a rule (422). `errors` names fields.
    Unprocessable {
        title: String,
        errors: Vec<(String, String)>,
    },
    /// Something the request points at does not exist (404).
    NotFound(String),
}

impl DomainError {
    pub fn invalid(title: impl Into<String>) -> Self {
        DomainError::Unprocessable {
            title: title.into(),
            errors: Vec::new(),
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = message.into();
        DomainError::Unprocessable {
            title: message.clone(),
            errors: vec![(field.into(), message)],
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        DomainError::NotFound(what.into())
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainError::Unprocessable { title, .. } => f.write_str(title),
            DomainError::NotFound(t) => f.write_str(t),
        }
    }
}

impl std::error::Error for DomainError {}
