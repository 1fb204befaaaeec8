// The front door of writ's Cedar engine. Typical use (what `writ cedar authorize` does):
//
//   auto set = cedar::ParsePolicySet(policy_text, {.ids_from_annotation = true});  // ParseErrors
//   auto schema = cedar::ParseSchema(schema_text);                                  // optional
//   auto entities = cedar::ParseEntities(entities_json, {.schema = &*schema});
//   cedar::Authorizer authorizer(std::move(*set));          // build once, share between threads
//   auto request = cedar::ParseRequest(request_json, &*schema);
//   cedar::Response response = authorizer.Authorize(*request, *entities);
//   std::string line = cedar::ResponseToJson(response);     // {"decision":..,"reason":..,"errors":..}
//
// Stages (like the reference): lexer -> parser (policy.h) -> AST (ast.h) -> evaluator ->
// authorizer (authorizer.h); values in value.h, entities and their JSON in entities.h, schemas in
// schema.h. Everything under cedar/internal/ is private.
#pragma once
#include "cedar/authorizer.h"
#include "cedar/entities.h"
#include "cedar/policy.h"
#include "cedar/schema.h"
#include "cedar/value.h"
