Feature: A rejected approval stops the release
  A reviewer who rejects the approval stops the release: nothing reaches the instances.

  Background:
    Given the demo app is live behind the load balancer

  Scenario: Rejecting the approval stops the release before Deploy
    When we push a version bump of the demo app
    Then the pipeline runs an execution for our commit
    And the release waits for our approval
    When we reject the release
    Then the pipeline execution failed at the "Approval" stage
    And nothing was deployed for our commit
    And every instance behind the load balancer serves the previous version
