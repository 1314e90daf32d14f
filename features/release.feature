Feature: Releasing a version bump
  A commit to the demo app goes through the whole pipeline (Source, BuildAndTest, Approval, Deploy)
  and reaches every instance behind the load balancer, without a failed request while traffic shifts.

  Background:
    Given the demo app is live behind the load balancer

  @slow
  Scenario: A version bump reaches every instance with no failed request
    Given we watch the load balancer
    When we push a version bump of the demo app
    Then the pipeline runs an execution for our commit
    And the "Source" stage succeeds
    And the "BuildAndTest" stage succeeds
    And the release waits for our approval
    When we approve the release
    Then the deployment succeeds
    And every instance behind the load balancer serves the new version
    And no request failed while the new version rolled out
