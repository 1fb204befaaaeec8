-- wrk script: POSTs one AuthZEN evaluation (an editor creating a todo through the API gateway).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-key"
wrk.body = '{"subject":{"type":"identity","id":"CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"},' ..
           '"action":{"name":"POST"},"resource":{"type":"route","id":"/todos"}}'
