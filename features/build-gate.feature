@destructive
Feature: Failing unit tests stop the release
  The BuildAndTest stage runs the app's unit tests; a commit that breaks one goes no further.

  Background:
    Given the demo app is live behind the load balancer

  Scenario: A commit with a failing unit test stops at BuildAndTest
    When we push a commit whose unit test fails
    Then the pipeline runs an execution for our commit
    And the pipeline execution failed at the "BuildAndTest" stage
    And the failure names the failing test
    And nothing was deployed for our commit
