//! Every error code the API answers with, as one enum: the code in the JSON
//! (`as_str`, never changes) and, in the languages catalog, its sentence in each
//! language, an exhaustive `match` the compiler checks.

/// An error's stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    InvalidQuery,
    InvalidCursor,
    InvalidId,
    InvalidJson,
    InvalidRequest,
    InvalidIdempotencyKey,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    TemplateNotApproved,
    TemplateVariablesInvalid,
    ActiveMessageLimitReached,
    WhatsappUnreachable,
    WhatsappOutcomeUnknown,
    WhatsappTimeout,
    InvalidSettings,
    InvalidChannel,
    InvalidTemplates,
    WabaRequired,
    ChannelTaken,
    BusinessAccountTaken,
    BusinessAccountNotGranted,
    ChannelNotBound,
    ChannelNotInBusinessAccount,
    WhatsappRejected,
}

impl ErrorCode {
    /// Every code, for tests and the API description.
    pub const ALL: [ErrorCode; 30] = [
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::PayloadTooLarge,
        ErrorCode::PreconditionFailed,
        ErrorCode::ServiceUnavailable,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidCursor,
        ErrorCode::InvalidId,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::IdempotencyInProgress,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::TemplateNotApproved,
        ErrorCode::TemplateVariablesInvalid,
        ErrorCode::ActiveMessageLimitReached,
        ErrorCode::WhatsappUnreachable,
        ErrorCode::WhatsappOutcomeUnknown,
        ErrorCode::WhatsappTimeout,
        ErrorCode::InvalidSettings,
        ErrorCode::InvalidChannel,
        ErrorCode::InvalidTemplates,
        ErrorCode::WabaRequired,
        ErrorCode::ChannelTaken,
        ErrorCode::BusinessAccountTaken,
        ErrorCode::BusinessAccountNotGranted,
        ErrorCode::ChannelNotBound,
        ErrorCode::ChannelNotInBusinessAccount,
        ErrorCode::WhatsappRejected,
    ];

    /// The code as the JSON body carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::ServiceUnavailable => "service_unavailable",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidCursor => "invalid_cursor",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ErrorCode::IdempotencyInProgress => "idempotency_in_progress",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::TemplateNotApproved => "template_not_approved",
            ErrorCode::TemplateVariablesInvalid => "template_variables_invalid",
            ErrorCode::ActiveMessageLimitReached => "active_message_limit_reached",
            ErrorCode::WhatsappUnreachable => "whatsapp_unreachable",
            ErrorCode::WhatsappOutcomeUnknown => "whatsapp_outcome_unknown",
            ErrorCode::WhatsappTimeout => "whatsapp_timeout",
            ErrorCode::InvalidSettings => "invalid_settings",
            ErrorCode::InvalidChannel => "invalid_channel",
            ErrorCode::InvalidTemplates => "invalid_templates",
            ErrorCode::WabaRequired => "waba_required",
            ErrorCode::ChannelTaken => "channel_taken",
            ErrorCode::BusinessAccountTaken => "business_account_taken",
            ErrorCode::BusinessAccountNotGranted => "business_account_not_granted",
            ErrorCode::ChannelNotBound => "channel_not_bound",
            ErrorCode::ChannelNotInBusinessAccount => "channel_not_in_business_account",
            ErrorCode::WhatsappRejected => "whatsapp_rejected",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
