package dev.mycelium.node.http;

/**
 * A request the API refuses, with the HTTP status, the error code of the API contract, a
 * message saying what to fix, and the request field at fault. Thrown by request parsing so that
 * bad input is answered before it reaches the store.
 */
public final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final int status;
  private final String code;
  private final String field;

  /** A refusal. */
  public ApiException(int status, String code, String message, String field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** 400 bad_request: malformed JSON or a value of the wrong type. */
  public static ApiException badRequest(String field, String message) {
    return new ApiException(400, "bad_request", message, field);
  }

  /** 400 invalid_field: a well-typed value that is not allowed. */
  public static ApiException invalid(String field, String message) {
    return new ApiException(400, "invalid_field", message, field);
  }

  /** HTTP status. */
  public int status() {
    return status;
  }

  /** API error code, e.g. {@code invalid_field}. */
  public String code() {
    return code;
  }

  /** The field at fault, or {@code null}. */
  public String field() {
    return field;
  }
}
