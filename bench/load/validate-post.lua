-- wrk script for the validate scenario: every request a POST of the same small JSON body.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("VALIDATE_BODY")
