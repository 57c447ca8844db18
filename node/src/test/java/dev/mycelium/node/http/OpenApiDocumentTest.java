package dev.mycelium.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.parameters.Parameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/openapi.yaml read the way client generators read it (swagger-parser, which
 * openapi-generator is built on): a valid OpenAPI 3.1 document whose paths are the node's
 * routes, whose operations a generator can name, and whose answers are all described.
 * OpenApiIT checks it against running nodes.
 */
class OpenApiDocumentTest {
  private static SwaggerParseResult parsed;

  @BeforeAll
  static void parse() throws Exception {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.exists(dir.resolve("docs/openapi.yaml"))) {
      dir = dir.getParent();
    }
    assertThat(dir).as("docs/openapi.yaml above the working directory").isNotNull();
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    options.setValidateInternalRefs(true);
    parsed = new OpenAPIV3Parser().readContents(
        Files.readString(dir.resolve("docs/openapi.yaml")), null, options);
  }

  @Test
  void isAValidOpenApi31Document() {
    assertThat(parsed.getMessages()).as("what the parser found wrong").isEmpty();
    OpenAPI api = parsed.getOpenAPI();
    assertThat(api).isNotNull();
    assertThat(api.getOpenapi()).startsWith("3.1.");
    assertThat(api.getComponents().getSecuritySchemes().get("apiKey").getScheme())
        .isEqualTo("bearer");
  }

  @Test
  void itsPathsAreTheRoutesTheNodeServes() {
    assertThat(parsed.getOpenAPI().getPaths().keySet())
        .containsExactlyInAnyOrderElementsOf(ApiRoutes.ROUTES);
  }

  private static Parameter resolve(Parameter p) {
    if (p.get$ref() == null) {
      return p;
    }
    Parameter found = parsed.getOpenAPI().getComponents().getParameters()
        .get(p.get$ref().substring(p.get$ref().lastIndexOf('/') + 1));
    assertThat(found).as(p.get$ref()).isNotNull();
    return found;
  }

  @Test
  void everyOperationHasAUniqueIdDeclaredPathParametersAndDescribedAnswers() {
    Set<String> ids = new HashSet<>();
    List<String> problems = new ArrayList<>();
    Pattern param = Pattern.compile("\\{([^}]+)}");
    for (Map.Entry<String, PathItem> p : parsed.getOpenAPI().getPaths().entrySet()) {
      for (Map.Entry<PathItem.HttpMethod, Operation> o : p.getValue().readOperationsMap()
          .entrySet()) {
        String op = o.getKey() + " " + p.getKey();
        Operation operation = o.getValue();
        if (operation.getOperationId() == null || !ids.add(operation.getOperationId())) {
          problems.add(op + ": missing or repeated operationId");
        }
        Set<String> declared = new HashSet<>();
        for (List<Parameter> ps : java.util.Arrays.asList(p.getValue().getParameters(),
            operation.getParameters())) {
          if (ps != null) {
            ps.stream().map(OpenApiDocumentTest::resolve).filter(x -> "path".equals(x.getIn()))
                .forEach(x -> declared.add(x.getName()));
          }
        }
        Matcher m = param.matcher(p.getKey());
        while (m.find()) {
          if (!declared.contains(m.group(1))) {
            problems.add(op + ": path parameter " + m.group(1) + " not declared");
          }
        }
        operation.getResponses().forEach((status, given) -> {
          ApiResponse r = given.get$ref() == null ? given : parsed.getOpenAPI().getComponents()
              .getResponses().get(given.get$ref().substring(given.get$ref().lastIndexOf('/')
                  + 1));
          if (r == null) {
            problems.add(op + " " + status + ": " + given.get$ref() + " does not resolve");
            return;
          }
          if (r.getDescription() == null || r.getDescription().isBlank()) {
            problems.add(op + " " + status + ": no description");
          }
          if (status.startsWith("4") || status.startsWith("5")) {
            boolean error = r.getContent() != null && r.getContent().values().stream()
                .anyMatch(c -> c.getSchema() != null);
            if (!error) {
              problems.add(op + " " + status + ": no body schema");
            }
          }
        });
      }
    }
    assertThat(problems).isEmpty();
  }
}
