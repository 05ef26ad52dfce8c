package api

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/valyala/fasthttp"

	"livechat/persistence"
)

// Code classifies an Error. Each code maps to one HTTP status, here.
type Code string

// Error codes.
const (
	EINVALID      Code = "EINVALID"
	ENOTFOUND     Code = "ENOTFOUND"
	ECONFLICT     Code = "ECONFLICT"
	EUNAUTHORIZED Code = "EUNAUTHORIZED"
	EFORBIDDEN    Code = "EFORBIDDEN"
	EMETHOD       Code = "EMETHOD"
	ETOOLARGE     Code = "ETOOLARGE"
	EHEADERS      Code = "EHEADERS"
	ERATELIMIT    Code = "ERATELIMIT"
	EUNAVAILABLE  Code = "EUNAVAILABLE"
	ESTORAGEFULL  Code = "ESTORAGEFULL"
	EINTERNAL     Code = "EINTERNAL"
)

// httpStatus is the one place codes become HTTP statuses.
var httpStatus = map[Code]int{
	EINVALID:      fasthttp.StatusBadRequest,
	ENOTFOUND:     fasthttp.StatusNotFound,
	ECONFLICT:     fasthttp.StatusBadRequest, // DRF reports uniqueness as a field error
	EUNAUTHORIZED: fasthttp.StatusUnauthorized,
	EFORBIDDEN:    fasthttp.StatusForbidden,
	EMETHOD:       fasthttp.StatusMethodNotAllowed,
	ETOOLARGE:     fasthttp.StatusRequestEntityTooLarge,
	EHEADERS:      fasthttp.StatusRequestHeaderFieldsTooLarge,
	ERATELIMIT:    fasthttp.StatusTooManyRequests,
	EUNAVAILABLE:  fasthttp.StatusServiceUnavailable,
	ESTORAGEFULL:  fasthttp.StatusInsufficientStorage,
	EINTERNAL:     fasthttp.StatusInternalServerError,
}

// Error is the API's error: a code plus what the client is told, in
// PROTOCOL.md's shapes ({"detail"} or field → messages).
type Error struct {
	Code   Code
	Detail string
	// Fields maps each bad field to its messages (400 bodies).
	Fields map[string][]string
	// AuthCode is SimpleJWT's "code" of a 401: token_not_valid,
	// user_not_found or no_active_account.
	AuthCode string
	// TokenMessages adds SimpleJWT's "messages" (the shape of a bad token
	// in the Authorization header, not of the token endpoints).
	TokenMessages bool
	// RetryAfter, in seconds, for 429.
	RetryAfter int
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return string(e.Code) + ": " + e.Detail
	}
	return string(e.Code) + ": invalid fields"
}

func detailError(code Code, detail string) *Error { return &Error{Code: code, Detail: detail} }

func fieldError(field, msg string) *Error {
	return &Error{Code: EINVALID, Fields: map[string][]string{field: {msg}}}
}

// Errors clients see often.
var (
	errNotFound        = detailError(ENOTFOUND, "Not found.")
	errNoCredentials   = detailError(EUNAUTHORIZED, "Authentication credentials were not provided.")
	errTooLarge        = detailError(ETOOLARGE, "Request body too large.")
	errHeadersTooLarge = detailError(EHEADERS, "Request header fields too large.")
	errUnavailable     = detailError(EUNAVAILABLE, "Service temporarily unavailable, try again.")
	errInternal        = detailError(EINTERNAL, "A server error occurred.")
	errStorageFull     = detailError(ESTORAGEFULL, "Storage is full.")
	errInvalidToken    = &Error{Code: EUNAUTHORIZED, Detail: "Given token not valid for any token type", AuthCode: "token_not_valid", TokenMessages: true}
	errUserNotFound    = &Error{Code: EUNAUTHORIZED, Detail: "User not found", AuthCode: "user_not_found"}
	errBadAuthHeader   = &Error{Code: EUNAUTHORIZED, Detail: "Authorization header must contain two space-delimited values", AuthCode: "bad_authorization_header"}
	errRefreshInvalid  = &Error{Code: EUNAUTHORIZED, Detail: "Token is invalid or expired", AuthCode: "token_not_valid"}
	errRefreshRevoked  = &Error{Code: EUNAUTHORIZED, Detail: "Token is blacklisted", AuthCode: "token_not_valid"}
	errNoActiveAccount = &Error{Code: EUNAUTHORIZED, Detail: "No active account found for the given token.", AuthCode: "no_active_account"}
	errBadCredentials  = fieldError("non_field_errors", "Unable to log in with provided credentials.")
)

type errorBody struct {
	Detail   string         `json:"detail"`
	Code     string         `json:"code,omitempty"`
	Messages []tokenMessage `json:"messages,omitempty"`
}

type tokenMessage struct {
	TokenClass string `json:"token_class"`
	TokenType  string `json:"token_type"`
	Message    string `json:"message"`
}

// writeError answers with err. Errors that are not *Error are internal:
// logged with their details, answered with a generic 500.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) {
	var e *Error
	if errors.Is(err, persistence.ErrStorageFull) {
		// From any layer: every write checks the store's reserve.
		s.metrics.Refused("storage_full")
		e = errStorageFull
	} else if errors.Is(err, persistence.ErrSyncFailed) {
		// The store refuses everything after a failed disk sync: /readyz
		// says so, and only a restart helps.
		s.logRateLimited(slog.LevelError, "disk sync failed: restart the server", slog.String("method", methodLabel(ctx.Method())),
			slog.String("route", s.routeLabel(ctx.Path())), slog.Any("err", err))
		e = errUnavailable
	} else if errors.Is(err, persistence.ErrUnavailable) {
		// From any layer: a cluster node's write the log's quorum did
		// not take (it may still be stored; a retry is safe).
		s.logRateLimited(slog.LevelWarn, "cluster log unavailable", slog.String("method", methodLabel(ctx.Method())),
			slog.String("route", s.routeLabel(ctx.Path())), slog.Any("err", err))
		e = errUnavailable
	} else if !errors.As(err, &e) {
		s.logRateLimited(slog.LevelError, "internal error", slog.String("method", methodLabel(ctx.Method())),
			slog.String("route", s.routeLabel(ctx.Path())), slog.Any("err", err))
		e = errInternal
	}
	noteRefusal(ctx, e)
	status := httpStatus[e.Code]
	if e.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if status == fasthttp.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="api"`) // as DRF with SimpleJWT
	}
	if e.Fields != nil {
		writeJSON(ctx, status, e.Fields)
		return
	}
	body := errorBody{Detail: e.Detail, Code: e.AuthCode}
	if e.TokenMessages {
		body.Messages = []tokenMessage{{TokenClass: "AccessToken", TokenType: "access", Message: "Token is invalid or expired"}}
	}
	writeJSON(ctx, status, body)
}
